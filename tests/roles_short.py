"""One-letter names for the roles, to keep the role × URL tables readable."""

from kernel.roles import Role

C = Role.COORDINATOR
I = Role.INVESTIGATOR  # noqa: E741
P = Role.PHARMACIST
M = Role.MONITOR
D = Role.DATA_MANAGER
S = Role.STATISTICIAN
SP = Role.SPONSOR
SPH = Role.SAFETY_PHYSICIAN
