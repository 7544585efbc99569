"""Who may do what: grants to users and groups, the highest wins, staff see all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.http import Http404
from django.urls import reverse

from console.access import endpoints_for, get_endpoint_for_user, level_for
from console.models import Grant, Level

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(make_endpoint):
    return make_endpoint("http://127.0.0.1:9", name="Other")


@pytest.fixture
def team(outsider):
    group = Group.objects.create(name="team")
    outsider.groups.add(group)
    return group


def test_group_grant_gives_its_level_to_members(outsider, team, other):
    Grant.objects.create(endpoint=other, group=team, level=Level.OPERATOR)
    found = get_endpoint_for_user(outsider, other.code, Level.OPERATOR)
    assert found == other and found.level == Level.OPERATOR
    with pytest.raises(Http404):
        get_endpoint_for_user(outsider, other.code, Level.MANAGER)
    assert [(e.name, e.level) for e in endpoints_for(outsider)] == [("Other", Level.OPERATOR)]


@pytest.mark.parametrize(
    "direct, through_group, expected",
    [
        (Level.VIEWER, Level.MANAGER, Level.MANAGER),
        (Level.MANAGER, Level.VIEWER, Level.MANAGER),
        (Level.OPERATOR, Level.OPERATOR, Level.OPERATOR),
    ],
)
def test_highest_of_user_and_group_grants_wins(
    outsider, team, other, direct, through_group, expected
):
    Grant.objects.create(endpoint=other, user=outsider, level=direct)
    Grant.objects.create(endpoint=other, group=team, level=through_group)
    second = Group.objects.create(name="second")
    outsider.groups.add(second)
    Grant.objects.create(endpoint=other, group=second, level=Level.VIEWER)
    assert level_for(outsider, other) == expected
    assert endpoints_for(outsider)[0].level == expected


def test_group_grant_is_lost_when_leaving_the_group(outsider, team, other):
    Grant.objects.create(endpoint=other, group=team, level=Level.MANAGER)
    outsider.groups.remove(team)
    with pytest.raises(Http404):
        get_endpoint_for_user(outsider, other.code, Level.VIEWER)
    assert endpoints_for(outsider) == []


def test_inactive_user_has_no_access(outsider, other):
    Grant.objects.create(endpoint=other, user=outsider, level=Level.MANAGER)
    outsider.is_active = False
    outsider.save()
    assert level_for(outsider, other) is None


def test_staff_see_every_endpoint_as_manager(admin_user, other, make_endpoint):
    third = make_endpoint("http://127.0.0.1:9", name="Third")
    assert {(e.name, e.level) for e in endpoints_for(admin_user)} == {
        ("Other", Level.MANAGER),
        ("Third", Level.MANAGER),
    }
    assert get_endpoint_for_user(admin_user, third.code, Level.MANAGER) == third


def test_home_lists_only_granted_endpoints_with_the_level(
    client, outsider, team, other, make_endpoint
):
    make_endpoint("http://127.0.0.1:9", name="Hidden")
    Grant.objects.create(endpoint=other, group=team, level=Level.OPERATOR)
    client.force_login(outsider)
    html = client.get(reverse("home")).content.decode()
    assert "Other" in html and "Operator" in html
    assert "Hidden" not in html
    assert "Settings and access" not in html


def test_group_member_reaches_the_bucket_list_and_others_get_404(
    client, outsider, team, other, make_endpoint
):
    hidden = make_endpoint("http://127.0.0.1:9", name="Hidden")
    Grant.objects.create(endpoint=other, group=team, level=Level.VIEWER)
    client.force_login(outsider)
    assert client.get(reverse("buckets:list", args=[other.code])).status_code == 200
    assert client.get(reverse("buckets:list", args=[hidden.code])).status_code == 404


def _grant(client, endpoint, **data):
    return client.post(reverse("grant_add", args=[endpoint.code]), data, follow=True)


def test_grant_form_refuses_both_user_and_group(client, admin_user, outsider, team, other):
    client.force_login(admin_user)
    response = _grant(client, other, user=outsider.pk, group=team.pk, level=Level.VIEWER)
    assert "Choose either a user or a group." in response.content.decode()
    response = _grant(client, other, level=Level.VIEWER)
    assert "Choose either a user or a group." in response.content.decode()
    assert not Grant.objects.exists()


def test_grant_to_a_group_then_change_and_revoke_it(client, admin_user, outsider, team, other):
    client.force_login(admin_user)
    response = _grant(client, other, group=team.pk, level=Level.VIEWER)
    assert "Access granted." in response.content.decode()
    assert "group team" in response.content.decode()
    _grant(client, other, group=team.pk, level=Level.MANAGER)
    grant = Grant.objects.get()
    assert grant.level == Level.MANAGER and grant.group == team
    assert level_for(outsider, other) == Level.MANAGER
    response = client.post(reverse("grant_delete", args=[other.code, grant.pk]), follow=True)
    assert "Access revoked." in response.content.decode()
    assert not Grant.objects.exists()
    assert level_for(outsider, other) is None


def test_grant_of_another_endpoint_cannot_be_revoked_through_this_one(
    client, admin_user, outsider, other, make_endpoint
):
    third = make_endpoint("http://127.0.0.1:9", name="Third")
    grant = Grant.objects.create(endpoint=third, user=outsider, level=Level.VIEWER)
    client.force_login(admin_user)
    response = client.post(reverse("grant_delete", args=[other.code, grant.pk]))
    assert response.status_code == 404
    assert Grant.objects.filter(pk=grant.pk).exists()
