"""What every page people use shares: languages (gettext catalogues), money formatting, rendering."""
