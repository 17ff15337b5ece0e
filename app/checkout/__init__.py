"""The checkout: holds (the buyer's cart) of lines of any registered kind, priced in one place."""
