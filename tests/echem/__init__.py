"""Tests of charact.echem."""
