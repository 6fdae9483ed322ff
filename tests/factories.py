"""factory-boy factories. Users are made per role; sites come from the trial configuration."""

import factory
from django.contrib.auth.models import Group

from participants.models import IdentifyingData, Participant
from trialedc.models import Site, User
from trialedc.roles import Role

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
    class Meta:
        model = Participant
        skip_postgeneration_save = True

    site = factory.SubFactory(SiteFactory)
    study_id = factory.LazyAttributeSequence(lambda o, n: f"{o.site.code}-{n + 1:04d}")
    registered_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def identity(self, create, extracted, **kwargs):
        if create:
            IdentifyingDataFactory(participant=self, **kwargs)


class IdentifyingDataFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdentifyingData

    full_name = factory.Sequence(lambda n: f"Patient Number{n}")
    national_id = factory.Sequence(lambda n: f"{1000000000 + n}")
    hospital_record_number = factory.Sequence(lambda n: f"HRN-{n:06d}")
