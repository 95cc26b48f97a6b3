"""Inspections, cases and published notices: the discipline group's own work (CONTRACT section 9).

Cases are sensitive: only the authority's supervisors and inspectors read them, every read is logged
(CaseRead), and the only text of a case that leaves it is a notice with every person's name redacted.
"""
