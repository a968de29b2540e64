"""ament_python build of sky2ground_ros (also installable with plain pip)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "sky2ground_ros"


def _files(pattern: str) -> list[str]:
    return sorted(p for p in glob(pattern, recursive=True) if not p.endswith("/"))


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["model/*.txt"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", _files("launch/*.py")),
        (f"share/{PACKAGE}/config", _files("config/*.yaml") + _files("config/*.xml")),
        (f"share/{PACKAGE}/models", _files("models/*.safetensors") + _files("models/*.md")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="sky2ground team",
    maintainer_email="sky2ground@example.org",
    description="SkyNet ground/aerial/satellite camera geo-localization as a ROS 2 package.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "sky2ground = sky2ground_ros.cli.main:main",
            "satellite_tile_server = sky2ground_ros.ros.tile_server_node:main",
            "sky2ground_localizer = sky2ground_ros.ros.localizer_node:main",
            "skynet_inference = sky2ground_ros.ros.skynet_inference_node:main",
        ],
    },
)
