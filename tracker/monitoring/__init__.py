"""Monitoring: watching schools as time passes. Flags (a school fallen behind), urges (a supervisor's
formal notice and the school's answer), the reminder stages the sweep records exactly once, who hears
about each, and the sweep that runs it all."""
