"""Technician tooling: site CA and device identities, node flashing and enrolment, gateway
install, broker configuration and ACLs, inventory (see the provisioning issue)."""
