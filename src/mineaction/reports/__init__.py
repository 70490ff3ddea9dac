"""Reports: charts, maps, HTML/PDF rendering from Jinja2 templates in any language with a
message catalogue (English and Spanish shipped), and the open-data package."""
