"""The business Zylin answers for: its profile (hours, services, FAQ) and how it is loaded."""

from zylin.business.profile import BusinessProfile, Faq, ProfileError, Service, load_profile

__all__ = ["BusinessProfile", "Faq", "ProfileError", "Service", "load_profile"]
