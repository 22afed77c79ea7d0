"""Incidents: the scenario catalogue, its faults and ground truths, and the verifier gate.

A scenario breaks a healthy service workdir in a seeded way; its ground truth judges from
outside the sandbox whether the root cause is gone; the verifier adds N consecutive healthy
probes of the sandbox's own instance. Together they are the only judge of "fixed".
"""

from sre_agent.incidents.catalogue import (
    catalogue,
    get_scenario,
    ground_truth,
    materialize,
    plan_incident,
)
from sre_agent.incidents.model import Connector, GroundTruth, Incident, Outcome, Scenario
from sre_agent.incidents.verifier import ProbeTarget, Verdict, VerifySettings, verify

__all__ = [
    "Connector", "GroundTruth", "Incident", "Outcome", "ProbeTarget", "Scenario", "Verdict",
    "VerifySettings", "catalogue", "get_scenario", "ground_truth", "materialize",
    "plan_incident", "verify",
]
