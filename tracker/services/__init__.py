"""Every write of the domain. Functions named <noun>_<verb>, keyword-only arguments."""
