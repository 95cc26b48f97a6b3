"""Reporting: what supervisors and inspectors read about a cycle. Dashboards (overview per school or
rolled up per unit, criteria, one school), daily trend snapshots, the oversight of follow-ups, and the
daily digest e-mail. Reads only, plus the snapshots and digest records; every count and rate comes
from `rules`."""
