"""Merchant webhooks over HTTP: endpoints, secret rotation, events and redelivery."""
