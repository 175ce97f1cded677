"""The imports room: spreadsheets (CSV, XLSX) of clients, buildings, contacts and orders."""
