"""`{% object_crumbs endpoint bucket … %}`: the breadcrumbs of a page under a bucket.

The listing and the object page build their crumbs in their views; the pages
around them (share, versions, incomplete uploads, …) show the same trail, from
the endpoint down to the folder (and the object) they are about, then their own
name, without each view having to build it.
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("objects/_crumbs.html")
def object_crumbs(endpoint, bucket, prefix="", key="", via="", via_url="", tail=""):
    """Endpoints › endpoint › bucket › folders of `prefix` (or of `key`'s folder)
    › the object `key` › `via` (a page on the way, at `via_url`) › `tail`.

    Without a tail the object is the last crumb, unlinked, as on its own page."""
    from objects import common
    from objects.browse import breadcrumbs

    folder = common.parent_prefix(key) if key else prefix
    crumbs = breadcrumbs(endpoint, bucket, folder, {})
    if key and not tail:
        tail = key
    elif key:
        detail = common.url("detail", endpoint, bucket, key=key)
        crumbs.append({"label": key[len(folder) :], "url": detail})
    if via:
        crumbs.append({"label": via, "url": via_url})
    return {"endpoint": endpoint, "crumbs": crumbs, "tail": tail}
