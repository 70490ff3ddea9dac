"""What a user can do, once, for the API, the web and the command line: records, history,
workflow, imports, links, lists, maps and dashboard figures. Below api/ and web/, above
access/, io/ and analysis/ (issue 14)."""
