"""Background work: the job queue (huey; Redis or a SQLite file), the jobs, and `widget-server worker`.

The queue instance is `widget_server.extensions.jobs`, bound by create_app.
"""
