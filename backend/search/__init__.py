"""Ticket and handling-record search: field filters, jieba full-text, XLSX export of lists."""
