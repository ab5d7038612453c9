"""Call-detail records and agent-state history, written from the CTI's bus events and read by supervisors."""
