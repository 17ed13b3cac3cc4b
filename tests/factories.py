from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from verticals.choices import FieldType
from verticals.models import Vertical, VerticalField


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    company_name = factory.Faker("company")
    # Confirmed, as most accounts in a test are past sign-up; pass email_verified_at=None for a new one.
    email_verified_at = factory.LazyFunction(timezone.now)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class VerticalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vertical

    slug = factory.Sequence(lambda n: f"vertical-{n}")
    name = factory.Sequence(lambda n: f"Vertical {n}")
    reserve_price = Decimal("25")


class VerticalFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VerticalField

    vertical = factory.SubFactory(VerticalFactory)
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.Sequence(lambda n: f"Field {n}")
    type = FieldType.TEXT
