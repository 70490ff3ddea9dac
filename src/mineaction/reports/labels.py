"""Labels for the codes the store holds (enums in domain/enums.py and the Monitor's device
groups), marked for translation. domain/ keeps codes; people read these."""

from __future__ import annotations

from collections.abc import Callable

from mineaction.reports.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    "outcome": {"killed": N_("Killed"), "injured": N_("Injured"),
                "unknown": N_("Outcome unknown")},
    "role": {"civilian": N_("Civilians"), "security_forces": N_("Security forces"),
             "deminer": N_("Deminers"), "unknown": N_("Status unknown")},
    "age-band": {"child": N_("Children"), "adult": N_("Adults"), "unknown": N_("Age unknown")},
    "sex": {"female": N_("Female"), "male": N_("Male"), "unknown": N_("Sex unknown")},
    "device-group": {
        "antipersonnel_mine": N_("Antipersonnel mines"),
        "improvised_mine": N_("Improvised mines"),
        "antivehicle_mine": N_("Antivehicle mines"),
        "cluster_munition_remnant": N_("Cluster munition remnants"),
        "other_erw": N_("Other explosive remnants of war"),
        "unspecified": N_("Unspecified devices"),
    },
    "device": {
        "ap_mine": N_("Antipersonnel mine"), "at_mine": N_("Antivehicle mine"),
        "improvised_mine": N_("Improvised mine"), "ied": N_("Improvised explosive device"),
        "cluster_munition": N_("Cluster munition"), "uxo": N_("Unexploded ordnance"),
        "axo": N_("Abandoned explosive ordnance"), "booby_trap": N_("Booby trap"),
        "other": N_("Other"), "unknown": N_("Unknown"),
    },
    "activity": {
        "agriculture": N_("Agriculture"), "herding": N_("Herding animals"),
        "collecting_food_water_wood": N_("Collecting food, water or wood"),
        "travelling": N_("Travelling, passing by"),
        "construction_reconstruction": N_("Construction or maintenance"),
        "returning_home": N_("Returning home"), "playing": N_("Playing"),
        "tampering": N_("Handling or tampering"), "demining": N_("Demining"),
        "military_duty": N_("Military or police duty"), "other": N_("Other activity"),
        "unknown": N_("Activity unknown"),
    },
    "accident-kind": {"mine": N_("Mine"), "erw": N_("Explosive remnant of war"),
                      "ied": N_("Improvised explosive device"), "demining": N_("Demining"),
                      "other": N_("Other"), "unknown": N_("Unknown")},
    "area-type": {"rural": N_("Rural"), "urban": N_("Urban"), "unknown": N_("Unknown")},
    "method": {"cancelled": N_("Cancelled"), "reduced": N_("Reduced"),
               "cleared": N_("Cleared")},
    "hazard_kind": {"SHA": N_("Suspected hazardous areas (SHA)"),
                    "CHA": N_("Confirmed hazardous areas (CHA)")},
    "hazard_status": {"open": N_("Open"), "worked_on": N_("Being worked on"),
                      "closed": N_("Closed"), "handed_over": N_("Handed over")},
    "activity_kind": {
        "non_technical_survey": N_("Non-technical survey"),
        "technical_survey": N_("Technical survey"), "clearance": N_("Clearance"),
        "battle_area_clearance": N_("Battle area clearance"),
        "eod_spot_task": N_("EOD spot task"),
    },
}
DIMENSION_TITLES = {
    "outcome": N_("Outcome"), "role": N_("Civilian or military status"),
    "age-band": N_("Age"), "sex": N_("Sex"), "device-group": N_("Device"),
    "activity": N_("Activity at the time of the accident"),
    "area-type": N_("Rural or urban area"),
}


def labeller(gettext: Callable[[str], str]) -> Callable[[str, object], str]:
    """label(dimension, code) in the chosen language; unknown codes are shown as they are."""

    def label(dimension: str, code: object) -> str:
        if code is None:
            return gettext("Not recorded")
        text = LABELS.get(dimension, {}).get(str(code))
        return gettext(text) if text else str(code)

    return label
