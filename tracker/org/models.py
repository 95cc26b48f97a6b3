"""Org: the unit tree (authorities and schools) and who holds which role where."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class UnitKind(models.TextChoices):
    AUTHORITY = "authority", "authority"
    SCHOOL = "school", "school"


class Unit(models.Model):
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("unit")
        verbose_name_plural = gettext_lazy("units")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["parent", "kind"])]

    def __str__(self) -> str:
        return self.name


class UnitTreeVersion(models.Model):
    """One row: a number that every statement writing the unit tree bumps (a database trigger on
    tracker_unit, migration 0019_overview, whatever path the write takes), in the writer's transaction.

    What a document built from the tree (the overview's names, kinds and parents) checks it was built
    from the same tree, in O(1) however many units there are (tracker.reporting.overview_cache).
    """

    version = models.BigIntegerField(default=0)


class UnitTreeFacts(models.Model):
    """One row: UnitTreeVersion for only what the flat overview takes from the tree (database triggers on
    tracker_unit, migration 0021_overview_facts): a unit added or deleted, a unit's parent or kind changed,
    a school renamed. A statement that changes none of that (a district renamed, a code edited, a statement
    matching no row) leaves it, and the overview's parts need not read the tree again
    (tracker.reporting.overview_patch). A value it never had before, so an equal version is the same facts.
    """

    version = models.BigIntegerField(default=0)


class UnitFactsChange(models.Model):
    """What each new version of UnitTreeFacts changed (PostgreSQL, the triggers of migration
    0023_unit_facts_changes): one row per school renamed, when a statement renamed schools and changed
    nothing else the overview takes from the tree, or one row without a school for any other change (a unit
    added, deleted, moved or of another kind). The versions are taken under the facts row's lock, so they
    grow in commit order: the rows between two versions are everything that changed between them, and a
    rename is patched into the overview without reading every school's name (tracker.reporting.
    overview_tree.renamed_since). The log starts with a row without a school: anything older reads as changed.
    """

    version = models.BigIntegerField(db_index=True)
    school_id = models.BigIntegerField(null=True)


class Role(models.TextChoices):
    SUPERVISOR = "supervisor", "supervisor"
    INSPECTOR = "inspector", "inspector"
    SCHOOL = "school", "school"


# The roles that see every unit under their authority (the others see their own school).
AUTHORITY_ROLES = (Role.SUPERVISOR, Role.INSPECTOR)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    # The language of e-mail digests for this person ("where known").
    language = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("membership")
        verbose_name_plural = gettext_lazy("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.unit}"
