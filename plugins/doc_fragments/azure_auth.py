# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Authentication and cloud options shared by every module of azure_ops.vm_access."""

    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credential comes from. Without this option, E(ANSIBLE_AZURE_AUTH_SOURCE) is used, else V(auto).
      - V(auto) tries, in order, module parameters (when O(client_id) is given); the credentials-file profile when
        one is named with O(profile) or E(AZURE_PROFILE); the environment (E(AZURE_CLIENT_ID) with a secret or a
        certificate); the profile section of C(~/.azure/credentials); workload identity from the environment
        (E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID), E(AZURE_FEDERATED_TOKEN_FILE)); the Azure CLI login when C(az) is
        on E(PATH).
      - V(auto) never selects a managed identity (as in azure.azcollection), because probing the instance metadata
        endpoint off Azure costs a timeout. Select V(msi) explicitly, for example with
        E(ANSIBLE_AZURE_AUTH_SOURCE=msi) on an Azure VM or in an execution environment running on Azure.
      - V(env) uses module parameters and the environment only; V(credential_file) uses module parameters and
        the O(profile) section of C(~/.azure/credentials) only.
      - V(cli) uses the Azure CLI login (C(az login)); the subscription is O(subscription_id),
        E(AZURE_SUBSCRIPTION_ID) or the CLI's default subscription.
      - V(msi) uses the managed identity of the Azure host; O(client_id) (or E(AZURE_CLIENT_ID)) selects a
        user-assigned identity.
      - V(workload_identity) uses a federated token file (Kubernetes workload identity, OIDC in CI) with
        O(client_id), O(tenant) and O(federated_token_file), or E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID) and
        E(AZURE_FEDERATED_TOKEN_FILE).
    type: str
    choices: [auto, env, credential_file, cli, msi, workload_identity]
  profile:
    description:
      - Section of the INI credentials file C(~/.azure/credentials) to read. Falls back to E(AZURE_PROFILE),
        then C(default).
      - A section may hold C(subscription_id), C(client_id), C(secret), C(tenant) and C(cloud_environment).
      - Naming a profile makes V(auto) use that section's credential (after explicit module parameters), and
        fails when the file or the section does not exist.
    type: str
  subscription_id:
    description:
      - Azure subscription id. Falls back to E(AZURE_SUBSCRIPTION_ID), then the credentials-file profile
        (or, with the Azure CLI, the CLI's default subscription).
      - Modules that take a full VM resource id use the subscription in that id.
    type: str
  client_id:
    description:
      - Application (client) id of a service principal or workload identity, or of a user-assigned managed
        identity with O(auth_source=msi). Falls back to E(AZURE_CLIENT_ID), then the credentials-file profile.
    type: str
  secret:
    description:
      - Client secret of the service principal. Falls back to E(AZURE_SECRET) (set by AWX's Azure Resource Manager
        credential), then E(AZURE_CLIENT_SECRET) (azure-identity's name), then the credentials-file profile.
      - A secret from the environment or the credentials file is used only with the client id it was stored with
        (or with O(client_id) when that place names no client id), never paired with another application's id.
    type: str
  tenant:
    description:
      - Microsoft Entra tenant (directory) id. Falls back to E(AZURE_TENANT) (AWX), then E(AZURE_TENANT_ID)
        (azure-identity), then the credentials-file profile.
    type: str
  certificate_path:
    description:
      - Path to a PEM or PKCS12 file holding the service principal's certificate and private key. Falls back to
        E(AZURE_CLIENT_CERTIFICATE_PATH), then E(AZURE_X509_CERTIFICATE_PATH).
      - When both a secret and a certificate are available from the same place, the secret is used.
    type: path
    aliases: [x509_certificate_path]
  certificate_password:
    description:
      - Password of the certificate file, if it is encrypted. Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  cloud_environment:
    description:
      - The Azure cloud. Falls back to E(AZURE_CLOUD_ENVIRONMENT), then the credentials-file profile (or the Azure
        CLI's cloud with the CLI), then V(AzureCloud).
      - A cloud name, case-insensitive - V(AzureCloud) (alias V(AzurePublicCloud)), V(AzureUSGovernment)
        (alias V(AzureUSGovernmentCloud)) or V(AzureChinaCloud).
      - Or the https URL of an Azure Resource Manager endpoint, for example
        V(https://management.local.azurestack.external) on Azure Stack Hub. Its
        C(/metadata/endpoints?api-version=2022-09-01) document is read for the login endpoint and the token
        audience, on every run (nothing is cached on disk). This is also how the collection's local Azure emulator
        is reached (V(https://127.0.0.1:PORT)).
      - For such a custom cloud, instance discovery is disabled automatically.
      - Plain http is refused. TLS is always verified, here and for every Azure call; for a private CA (Azure Stack
        Hub, the emulator) set E(REQUESTS_CA_BUNDLE) to a PEM file containing it.
    type: str
  disable_instance_discovery:
    description:
      - Do not look the login authority up at C(login.microsoftonline.com) before authenticating (needed for
        disconnected or private clouds). Falls back to E(AZURE_DISABLE_INSTANCE_DISCOVERY), then V(false).
      - Always on when O(cloud_environment) is a URL.
    type: bool
  federated_token_file:
    description:
      - Path to a file holding a federated (OIDC) token, for workload identity. Falls back to
        E(AZURE_FEDERATED_TOKEN_FILE), as set by Azure Workload Identity on Kubernetes.
    type: path
requirements:
  - python >= 3.10
  - azure-identity >= 1.15.0
  - azure-mgmt-compute >= 30.0.0
notes:
  - Each value is taken from the module option, else its environment variable, else the credentials-file profile;
    O(auth_source) decides which of these places may supply the credential itself.
  - The options and environment variables are those of azure.azcollection and of AWX's Azure Resource Manager
    credential (E(AZURE_SUBSCRIPTION_ID), E(AZURE_CLIENT_ID), E(AZURE_SECRET), E(AZURE_TENANT),
    E(AZURE_CLOUD_ENVIRONMENT)), so existing credentials and C(module_defaults) keep working; azure-identity's names
    (E(AZURE_CLIENT_SECRET), E(AZURE_TENANT_ID), E(AZURE_CLIENT_CERTIFICATE_PATH)) are accepted too.
  - User name and password authentication (C(ad_user), C(password)) and ADFS authorities are not supported.
  - Credentials come only from azure-identity; neither azure-cli-core nor msrestazure is needed. The Azure CLI,
    when used, is run as the C(az) command.
seealso:
  - name: Sign in with the Azure CLI
    description: How to log in with C(az login) and choose the default subscription.
    link: https://learn.microsoft.com/cli/azure/authenticate-azure-cli
  - name: Azure Stack Hub Resource Manager endpoints
    description: The C(/metadata/endpoints) document used to discover a custom cloud.
    link: https://learn.microsoft.com/azure-stack/user/azure-stack-version-profiles-python
"""
