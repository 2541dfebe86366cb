"""konnect-etl: file-drop batch ETL from ERP/WMS/POS spreadsheets to Fynd Konnect."""

__version__ = "0.1.0"
