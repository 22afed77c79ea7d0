"""Incidents: scenario packs (a service, its scenarios, their faults and ground truths), the
catalogue over every pack, and the verifier gate.

A scenario breaks a healthy service in a seeded way; its ground truth judges from outside the
sandbox whether the root cause is gone; the verifier adds the pack's steady-state hypothesis
(N consecutive healthy attempts, sustained, from the sandbox's own processes). Together they
are the only judge of "fixed".
"""

from sre_agent.incidents.catalogue import (
    catalogue,
    fingerprint,
    fix_actions,
    get_scenario,
    ground_truth,
    live_fault_actions,
    materialize,
    pack_of,
    plan_incident,
    prepare_actions,
    scenario_spec,
    steady_state,
    values_for,
)
from sre_agent.incidents.model import Connector, GroundTruth, Incident, Outcome, Scenario
from sre_agent.incidents.packs import Catalogue, Pack, catalogue_of_packs, load_pack
from sre_agent.incidents.verifier import ProbeTarget, Verdict, VerifySettings, verify

__all__ = [
    "Catalogue", "Connector", "GroundTruth", "Incident", "Outcome", "Pack", "ProbeTarget",
    "Scenario", "Verdict", "VerifySettings", "verify",
    "catalogue", "catalogue_of_packs", "fingerprint", "fix_actions", "get_scenario",
    "ground_truth", "live_fault_actions", "load_pack", "materialize", "pack_of",
    "plan_incident", "prepare_actions", "scenario_spec", "steady_state", "values_for",
]
