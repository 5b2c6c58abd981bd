"""Alert history: the shipped Ukrainian record, import, statistics, export and replay."""
