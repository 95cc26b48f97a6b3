"""Org: the unit tree (authorities over schools, at any depth), memberships (who holds which role
where), accounts, and the one walk of the tree (`tree`): descendants, ancestors, nearest authority,
schools under an authority."""
