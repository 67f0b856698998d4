"""What people read: the HTML report, its charts, spreadsheet-safe exports."""
