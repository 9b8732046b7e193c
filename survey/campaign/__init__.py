"""The campaign's pages: its public page of participating agencies and the campaign console."""
