"""Certifications, their versioned criteria, and the assessments people take."""
