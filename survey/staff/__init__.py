"""The staff console: sign-in, roles, waves, invitations, response rates and exports."""
