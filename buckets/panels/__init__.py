"""The bucket-settings panels, in the order the settings page shows them.

`base` says what a panel is made of; the other modules hold the panels, by group.
"""

from __future__ import annotations

from buckets.panels import access, features, rules
from buckets.panels.base import Action, Change, Panel, PanelContext

PANELS = {
    panel.slug: panel
    for panel in [
        features.LOCATION,
        features.VERSIONING,
        access.ACL,
        access.POLICY,
        rules.CORS,
        rules.LIFECYCLE,
        features.TAGGING,
        features.LOGGING,
        features.WEBSITE,
        features.ENCRYPTION,
        features.OBJECT_LOCK,
    ]
}

__all__ = ["PANELS", "Action", "Change", "Panel", "PanelContext"]
