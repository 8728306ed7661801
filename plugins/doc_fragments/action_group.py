# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The C(azure) action group every Azure module of the collection belongs to."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    support: full
    membership: [azure_ops.vm_access.azure]
    description: Use C(group/azure_ops.vm_access.azure) in C(module_defaults) to set defaults for this module.
"""
