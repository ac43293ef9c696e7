"""Cartridge cases: region of interest, levelling, band-pass, registration, CMC."""
