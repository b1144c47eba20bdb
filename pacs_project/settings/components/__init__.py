"""Settings components: one module per concern, each a set of functions of the environment.

``pacs_project.settings.base`` calls them with ``os.environ``; tests call them with a plain dict.
A component never reads ``os.environ`` itself, so its result depends only on its arguments.
"""
