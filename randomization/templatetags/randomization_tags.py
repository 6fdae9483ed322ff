"""The randomization line of the participant page: arm-free for everyone who may see it."""

from django import template

register = template.Library()


@register.inclusion_tag("randomization/_participant_timeline.html", takes_context=True)
def randomization_summary(context, participant) -> dict:
    from randomization import selectors

    return {
        "participant": participant,
        "randomization": selectors.randomization_of(participant),
        "unblinded": participant.pk in selectors.unblinded_participant_ids(),
        "perms": context.get("perms"),
    }
