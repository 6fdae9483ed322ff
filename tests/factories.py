"""factory-boy factories. Users are made per role; sites come from the trial configuration."""

import factory
from django.contrib.auth.models import Group

from kernel.models import Site, User
from kernel.roles import Role
from participants.models import Participant

PASSWORD = "correct-horse-battery-staple"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = "01"
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")
    time_zone = "Asia/Tehran"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted: Role | None, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted.value))

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        for site in extracted or []:
            self.sites.add(site)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class ParticipantFactory(factory.django.DjangoModelFactory):
    """An enrolled participant: screened, eligible, consented, with a study ID (status enrolled).

    The screening (with identifying data), eligibility and consent are made on the way, as
    participants.services.participant_enroll requires them.
    """

    class Meta:
        model = Participant
        skip_postgeneration_save = True

    class Params:
        # The foundation's name for the person who made the record; kept so tests written
        # against it (`ParticipantFactory(registered_by=...)`) still work.
        registered_by = None

    site = factory.SubFactory(SiteFactory)
    screening = factory.SubFactory(
        "tests.participants_factories.ScreeningFactory",
        site=factory.SelfAttribute("..site"),
        identity=False,
    )
    # `identity__full_name=...` etc. set the identifying data, as with the foundation factory.
    identity = factory.SubFactory(
        "tests.participants_factories.IdentifyingDataFactory",
        screening=factory.SelfAttribute("..screening"),
    )
    study_id = factory.LazyAttribute(lambda o: _next_study_id(o.site))
    status = "enrolled"
    enrolled_by = factory.LazyAttribute(lambda o: o.registered_by or o.screening.screened_by)

    @factory.post_generation
    def screening_records(self, create, extracted, **kwargs):
        from participants.models import Consent, Eligibility

        from .participants_factories import ConsentFactory, EligibilityFactory

        if create and not Eligibility.objects.filter(screening=self.screening).exists():
            EligibilityFactory(screening=self.screening, confirmed=True)
        if create and not Consent.objects.filter(screening=self.screening).exists():
            ConsentFactory(screening=self.screening)


def _next_study_id(site) -> str:
    # Shares the service's counter, so factory-made and service-made study IDs never collide.
    from participants.models import SiteSequence

    counter, _ = SiteSequence.objects.get_or_create(site=site, kind=SiteSequence.STUDY_ID)
    counter.last_value += 1
    counter.save()
    return f"{site.code}-{counter.last_value:04d}"


from .participants_factories import IdentifyingDataFactory  # noqa: E402, F401


def lock_database(user, *, reason: str = "Last participant's last visit entered"):
    """The database lock as the data manager signs it (issue 20): every open item of the
    readiness checklist waived with a reason, the password given."""
    from datamanagement import selectors as dm_selectors
    from datamanagement import services as dm_services

    return dm_services.database_lock(
        user=user,
        password=PASSWORD,
        reason=reason,
        waivers={i.key: "Waived for the test" for i in dm_selectors.database_lock_readiness()},
    )


def permission(name: str):
    """The Permission "app_label.codename"."""
    from django.contrib.auth.models import Permission

    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def coordinator_with_extra_groups(make_user) -> User:
    """A coordinator who also holds the monitor role, a trial permission given outside any role
    (own and through a group "helpers", both to be ignored), a non-trial permission of their own
    and a group without permissions: every kind of row the permission read must handle."""
    coordinator = make_user(Role.COORDINATOR)
    coordinator.user_permissions.add(permission("randomization.view_allocation"))
    coordinator.user_permissions.add(permission("auth.view_group"))
    helpers = Group.objects.create(name="helpers")
    helpers.permissions.add(permission("randomization.view_allocation"))
    coordinator.groups.add(helpers, Group.objects.create(name="no permissions at all"))
    coordinator.groups.add(Group.objects.get(name=Role.MONITOR.value))
    return coordinator
