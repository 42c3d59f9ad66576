"""Monitoring: indicator time series, warning rules as data, warnings with a stable identity,
the enrolment forecast, supervision tasks (督办), the city schedule and notifications.

Entry points for every face (the CLI, the web pages and the API) are in `junheng.monitor.service`.
"""
