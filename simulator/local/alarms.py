"""CloudWatch alarms on the local stack: the template's alarms made in moto, and what moto leaves out of
CloudWatch that the smoke test reads (``orders.smoke``).

moto keeps an alarm's state (``SetAlarmState``) but runs none of its actions and has no ``DescribeAlarmHistory``.
CloudWatch, when an alarm's state changes with its actions enabled, runs the actions of the new state and records
each in the alarm's history as an ``Action`` item: ``HistorySummary`` "Successfully executed action <arn>" or
"Failed to execute action <arn>", ``HistoryData`` a JSON document with ``actionState`` ``Succeeded`` or ``Failed``
(and its ``error``). ``install`` teaches moto that for SNS actions, in this process (moto's state is per process):
the notification is published to the topic in moto, and an action on a topic that does not exist fails. What moto
cannot show, and the local stack therefore cannot either: a key policy or a topic policy refusing CloudWatch (moto
evaluates no policy), and the mail reaching someone.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import boto3

# An alarm's properties as PutMetricAlarm takes them (CloudFormation and the API share these names).
_ALARM_PROPERTIES = (
    "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions", "MetricName",
    "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods",
    "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "Metrics", "ThresholdMetricId",
)  # fmt: skip


def create_alarm(name: str, properties: dict[str, Any], region: str) -> bool:
    """Make the alarm in moto from its resolved properties; ``False`` (said on stderr) when moto refuses it."""
    request = {key: properties[key] for key in _ALARM_PROPERTIES if key in properties}
    try:
        boto3.client("cloudwatch", region_name=region).put_metric_alarm(AlarmName=name, **request)
    except Exception as exc:  # moto may not take every alarm: say so and go on
        print(f"local: alarm {name}: moto did not accept it ({exc}); skipped", file=sys.stderr)
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _run_action(backend: Any, alarm: Any, arn: str, state: str) -> dict[str, Any]:
    """Publish the alarm's notification to the SNS topic ``arn``; the ``Action`` history item CloudWatch writes."""
    from moto.sns.models import sns_backends

    data: dict[str, Any] = {"notificationResource": arn, "stateUpdateTimestamp": int(_now().timestamp() * 1000)}
    message = json.dumps({"AlarmName": alarm.name, "NewStateValue": state, "NewStateReason": alarm.state_reason})
    try:
        if ":sns:" not in arn:
            raise ValueError(f"{arn} is not an SNS topic: the local stack runs SNS actions only")
        sns_backends[backend.account_id][backend.region_name].publish(message, arn=arn)
    except Exception as exc:  # what CloudWatch records for an action it could not run
        data.update(actionState="Failed", error=str(exc) or type(exc).__name__)
        summary = f"Failed to execute action {arn}"
    else:
        data.update(actionState="Succeeded", publishedMessage=message)
        summary = f"Successfully executed action {arn}"
    return {
        "AlarmName": alarm.name,
        "AlarmType": "MetricAlarm",
        "Timestamp": _now(),
        "HistoryItemType": "Action",
        "HistorySummary": summary,
        "HistoryData": json.dumps(data),
    }


def install() -> None:
    """Alarm actions and their history in moto's CloudWatch, for this process (once)."""
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    if getattr(CloudWatchBackend, "local_alarm_actions", False):
        return
    set_state = CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        before = alarm.state_value if alarm is not None else None
        set_state(self, alarm_name, reason, reason_data, state_value)
        if alarm is None or before == state_value or not alarm.actions_enabled:
            return
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions}.get(state_value, [])
        items = alarm.__dict__.setdefault("local_history", [])
        items.extend(_run_action(self, alarm, arn, state_value) for arn in actions or [])

    def describe_alarm_history(self: Any) -> ActionResult:
        alarm = self.cloudwatch_backend.alarms.get(self._get_param("AlarmName"))
        kind, start = self._get_param("HistoryItemType"), _aware(self._get_param("StartDate"))
        items = [
            item
            for item in getattr(alarm, "local_history", [])
            if (not kind or item["HistoryItemType"] == kind) and (start is None or item["Timestamp"] >= start)
        ]
        if self._get_param("ScanBy") != "TimestampAscending":
            items.reverse()
        return ActionResult({"AlarmHistoryItems": items})

    CloudWatchBackend.set_alarm_state = set_alarm_state  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = describe_alarm_history  # type: ignore[attr-defined]
    CloudWatchBackend.local_alarm_actions = True  # type: ignore[attr-defined]
