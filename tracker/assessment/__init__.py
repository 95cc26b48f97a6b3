"""Assessment: cycles, criteria, the task each criterion becomes for each school, evidence, scoring,
the transitions table (the law of the task workflow) and the rules judged on tasks (`rules`: open,
overdue, days overdue, upcoming)."""
