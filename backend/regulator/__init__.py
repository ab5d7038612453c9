"""12378: complaints transferred by the regulator — import from XLSX/CSV, export of handling results."""
