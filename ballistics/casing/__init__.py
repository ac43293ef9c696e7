"""Cartridge cases: region of interest, levelling, band-pass, registration and Congruent Matching Cells."""
