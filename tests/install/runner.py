"""runner.py - run-readme.py (a script, named as one) as a module: the
package test (tests/package/) and the Ansible role's (tests/ansible/)
run the README in a fresh root with its run_readme(way, skip_var, after).
"""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "run_readme", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run-readme.py"))
module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(module)
run_readme = module.run_readme
