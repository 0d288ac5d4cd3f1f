# Python imports this module at start-up when its folder is on PYTHONPATH: see
# orchestration/sql_util_standin.py `in_child_processes`.
import orchestration.sql_util_standin  # noqa: F401
