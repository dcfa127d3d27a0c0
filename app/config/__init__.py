"""The position profile: schema (pydantic), loading with clear errors, and where files live. No Qt."""

from app.config.check import check_profile
from app.config.load import Problem, ProfileError, demo_profile_path, load_demo_profile, load_profile
from app.config.paths import config_dir, data_dir, default_profile_path, storage_path
from app.config.schema import Profile

__all__ = [
    "Problem",
    "Profile",
    "ProfileError",
    "check_profile",
    "config_dir",
    "data_dir",
    "default_profile_path",
    "demo_profile_path",
    "load_demo_profile",
    "load_profile",
    "storage_path",
]
