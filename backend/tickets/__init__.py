"""Tickets: complaints, violation reports, consultations, claim reports and the other business types, registered
through one flow, numbered, scoped to the registering org (首问负责制) and given their regulatory deadline."""
