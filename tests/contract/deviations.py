"""What we add to the definitions from the wheels, each with its origin. Written in our own words.

Three kinds of additions:

1. Fixed enums. The Python generator types every enum as ``str``, so it loses the difference
   between ``modelAsString: true`` (any string is valid) and ``modelAsString: false`` (only the
   listed values). FIXED_ENUMS lists the fixed enums on the response paths this test walks.
   Origin: the Compute 2025-04-01 swagger in Azure/azure-rest-api-specs
   (specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2025-04-01/,
   computeRPCommon.json at 802dc37d3c149ebda1b1b2a5753363814c90ea16 and virtualMachine.json at
   09060ed333ceded8ccd1c634c039eef79a884e8d), cross-checked against the npm package
   @azure/arm-compute 23.3.0 (Compute 2025-04-01), whose models/mappers.js marks exactly these
   properties as ``Enum`` with ``allowedValues`` (or as constants).

2. The ARM error wrapper. The Python generator leaves Compute's ``CloudError`` out (azure-core
   reads errors itself), so it is defined here as the spec has it: ``{"error": ApiError}``
   (common-types/v1/common.json of Compute at 08272fcc1e9cf3e007cb7a333d777b99ceab7bf1).

3. Shapes that real Azure traffic shows and the definitions do not, from the facts file
   (shared/AZURE_VMACCESS_FACTS.md). Each is a derived definition, so everything else in the
   document is still checked against the official one.
"""

from __future__ import annotations

from .definitions import Definitions, Field, Model

FACTS = "AZURE_VMACCESS_FACTS.md"

# (model, attribute) -> allowed values; modelAsString: false in the Compute 2025-04-01 swagger.
FIXED_ENUMS = {
    ("InstanceViewStatus", "level"): ("Info", "Warning", "Error"),                   # StatusLevelTypes
    ("OSDisk", "os_type"): ("Windows", "Linux"),                                     # OperatingSystemTypes
    ("OSDisk", "caching"): ("None", "ReadOnly", "ReadWrite"),                        # CachingTypes
    ("DataDisk", "caching"): ("None", "ReadOnly", "ReadWrite"),
    ("VirtualMachineIdentity", "type"): ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"),
    ("AdditionalUnattendContent", "pass_name"): ("OobeSystem",),                     # a constant
    ("AdditionalUnattendContent", "component_name"): ("Microsoft-Windows-Shell-Setup",),   # a constant
    ("AdditionalUnattendContent", "setting_name"): ("AutoLogon", "FirstLogonCommands"),
    ("WinRMListener", "protocol"): ("Http", "Https"),
    ("MaintenanceRedeployStatus", "last_operation_result_code"):
        ("None", "RetryLater", "MaintenanceAborted", "MaintenanceCompleted"),
}

# The async operation's status values (Azure Resource Manager's async-operation contract; the
# Compute definition only says "string").
OPERATION_STATUSES = ("InProgress", "Succeeded", "Failed", "Canceled")


def define(defs: Definitions, name: str, fields: dict, origin: str, required: tuple = ()) -> Model:
    """A definition written here: REST key -> msrest type."""
    model = Model(name, {k: Field(attr=k, key=(k,), type=t, required=k in required) for k, t in fields.items()},
                  origin=origin)
    defs.models[name] = model
    return model


def apply(defs: Definitions) -> Definitions:
    for (model, attr), values in FIXED_ENUMS.items():
        defs.restrict_enum(model, attr, values)

    define(defs, "CloudError", {"error": "ApiError"}, "Compute common-types/v1 CloudError")

    # VM lists carry each extension as a bare id (facts 8.1; Azure/azure-rest-api-specs#14459:
    # list responses lack the extension's required properties). Everything else about a listed
    # VM is checked against VirtualMachine.
    defs.derive("ExtensionIdInList", "SubResource", required=("id",),
                origin=f"SubResource with id required ({FACTS} 8.1)")
    defs.derive("VirtualMachineInList", "VirtualMachine", types={"resources": "[ExtensionIdInList]"},
                origin=f"VirtualMachine, resources as bare ids ({FACTS} 8.1)")
    defs.derive("VirtualMachineListPage", "VirtualMachineListResult", types={"value": "[VirtualMachineInList]"},
                origin="VirtualMachineListResult")

    # Error bodies. Real Compute errors put their internal code in innererror.internalErrorCode
    # (facts 4, e.g. MultipleExtensionsPerHandlerNotAllowed); Compute's InnerError declares only
    # exceptiontype and errordetail. ARM always gives code and message.
    defs.derive("InnerErrorSeen", "InnerError", add={"internalErrorCode": "str"},
                origin=f"InnerError + internalErrorCode ({FACTS} 4)")
    defs.derive("ApiErrorSeen", "ApiError", types={"innererror": "InnerErrorSeen"}, required=("code", "message"),
                origin=f"ApiError, innererror as seen ({FACTS} 4)")
    define(defs, "ErrorBody", {"error": "ApiErrorSeen"}, "CloudError, error required", required=("error",))
    # 409s carry code, message and sometimes details[]; no innererror was seen (facts 8.3).
    defs.derive("ApiError409", "ApiErrorSeen", drop=("innererror",),
                origin=f"ApiError without innererror ({FACTS} 8.3)")
    defs.derive("ErrorBody409", "ErrorBody", types={"error": "ApiError409"}, origin="CloudError for 409")

    defs.derive("OperationStatus", "OperationStatusResponse", required=("status",),
                origin="OperationStatusResponse (Compute 2017-12-01), status required")
    defs.restrict_enum("OperationStatus", "status", OPERATION_STATUSES)
    return defs
