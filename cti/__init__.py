"""CTI: the only part of Lianluo that speaks AMI. It owns the live call and agent state of one Asterisk
node, publishes platform events on the bus, and carries the platform's commands back (``lianluo cti``)."""
