"""Central-side consumption of edgepost events: subscribe, decode, de-duplicate, detect gaps."""

from gateway.subscriber.client import EventSubscriber, Received, SubscriberOptions

__all__ = ["EventSubscriber", "Received", "SubscriberOptions"]
