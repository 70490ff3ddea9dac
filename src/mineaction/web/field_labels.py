# SPDX-License-Identifier: GPL-3.0-or-later
"""The field labels the pages show (forms.label_of of every field of every record kind),
marked for the web catalogue (issue 22): the labels are made from field names at run time,
so gettext's extraction would not see them. tests/web/test_i18n_catalogue.py fails when a
field is added without its label here; the same for the values of the enumerations."""

from __future__ import annotations

from mineaction.reports.i18n import N_

FIELD_LABELS = (
    N_("Accident"), N_("Accident date"), N_("Accident kind"), N_("Acronym"), N_("Activity"),
    N_("Activity kind"), N_("Activity status"), N_("Activity text"), N_("Address"),
    N_("Adjusted"), N_("Admin area pcode"), N_("Age"), N_("Age band"), N_("Alternative names"),
    N_("Anti handling"), N_("Area (m²)"), N_("Area type"), N_("Bearing"),
    N_("Bearing reference"), N_("Bearing unit"), N_("Beneficiaries"), N_("Blockages"),
    N_("Boys"), N_("Clearance depth (cm)"), N_("Closure error m"), N_("Condition"),
    N_("Contact"), N_("Contamination"), N_("Created at"), N_("Created by"), N_("Credibility"),
    N_("Dataset"), N_("Date closed"), N_("Date confirmed"), N_("Date handed over"),
    N_("Date laid"), N_("Date of birth"), N_("Date precision"), N_("Date recorded"),
    N_("Date reported"), N_("Depth (cm)"), N_("Description"), N_("Device category"),
    N_("Device model"), N_("Disposal"), N_("Distance"), N_("Distance unit"), N_("End date"),
    N_("End point"), N_("Ethnic group"), N_("Evidence description"), N_("Evidence kind"),
    N_("External"), N_("Find date"), N_("From point"), N_("Fuze"), N_("Geometry"), N_("Girls"),
    N_("Handed over by"), N_("Hazard"), N_("Hazard kind"), N_("Hazard status"), N_("Id"),
    N_("Injuries"), N_("Label"), N_("Laid by"), N_("Level"), N_("Location"),
    N_("Location accuracy m"), N_("Location precision"), N_("Men"), N_("Method"), N_("Mines"),
    N_("Name"), N_("Narrative"),
    N_("Notes"), N_("Organisation"), N_("Organisation kind"), N_("Original coordinates"),
    N_("Outcome"), N_("Pace factor"), N_("Parent pcode"), N_("Pattern"), N_("Pcode"),
    N_("Place name"), N_("Priority"), N_("Quantity"), N_("Record"), N_("Reference"),
    N_("Release date"), N_("Reliability"), N_("Reported injured"),
    N_("Reported killed"), N_("Role"), N_("Row offset m"), N_("Sequence"),
    N_("Session date"), N_("Sex"), N_("Source date"), N_("Source kind"), N_("Sources"),
    N_("Spacing m"), N_("Start date"), N_("Start point"), N_("Status"), N_("Title"),
    N_("Unknown audience"), N_("Updated at"), N_("Updated by"), N_("Url"), N_("Version"),
    N_("Women"),
)

# The values of the domain's enumerations as the pages show them ("_" read as " "; codes
# such as SHA and the reliability letters stay as they are). The test fails when an
# enumeration gains a value without its label here.
VALUE_LABELS = (
    N_("admin area"), N_("adult"), N_("agriculture"), N_("ap mine"), N_("approved"),
    N_("at mine"), N_("axo"), N_("battle area clearance"), N_("benchmark"), N_("booby trap"),
    N_("cancelled"), N_("child"), N_("civil society"), N_("civilian"), N_("clearance"),
    N_("cleared"), N_("closed"), N_("cluster"), N_("cluster munition"),
    N_("collecting food water wood"), N_("commercial"), N_("community"), N_("completed"),
    N_("construction reconstruction"), N_("damaged"), N_("day"), N_("degrees"), N_("deminer"),
    N_("demining"), N_("destroyed in situ"), N_("direct"), N_("double"), N_("draft"), N_("end"),
    N_("eod spot task"), N_("erw"), N_("exact"), N_("female"), N_("field report"),
    N_("functioning"), N_("gradians"), N_("grazing"), N_("grid"), N_("handed over"),
    N_("herding"), N_("hospital"), N_("housing"), N_("ied"), N_("improvised mine"),
    N_("indirect"), N_("infrastructure"), N_("injured"), N_("intact"), N_("intermediate"),
    N_("killed"), N_("landmark"), N_("magnetic"), N_("male"), N_("media"), N_("metres"),
    N_("military duty"), N_("military police"), N_("mils"), N_("mine"), N_("month"),
    N_("national authority"), N_("ngo"), N_("non technical survey"), N_("not disposed"),
    N_("official"), N_("ongoing"), N_("open"), N_("other"), N_("paces"), N_("planned"),
    N_("playing"), N_("reduced"), N_("reference"), N_("rejected"), N_("removed and destroyed"),
    N_("rendered safe"), N_("returning home"), N_("roads"), N_("row end"), N_("row start"),
    N_("rural"), N_("scattered"), N_("security forces"), N_("services"), N_("settlement"),
    N_("single"), N_("site"), N_("staggered"), N_("start"), N_("stored"), N_("submitted"),
    N_("suspended"), N_("tampering"), N_("technical survey"), N_("travelling"), N_("true"),
    N_("turning"), N_("un"), N_("unknown"), N_("urban"), N_("uxo"), N_("water"),
    N_("worked on"), N_("year"),
)
