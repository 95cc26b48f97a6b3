from tests.integrity_support import integrity

__all__ = ["integrity"]
