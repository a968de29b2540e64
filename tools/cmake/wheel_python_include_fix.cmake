# Injected with -DCMAKE_PROJECT_INCLUDE when building interface packages against the ROS 2
# wheels from PyPI. Their exported rosidl_generator_py targets carry the wheel builder's
# Python include directory (/opt/python/<tag>/include/...), which does not exist here and
# makes configure fail. At the end of configure, point those targets at this interpreter's
# include directory instead.
find_package(Python3 REQUIRED COMPONENTS Interpreter Development)

function(_sky2ground_fix_wheel_python_includes)
  get_directory_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" IMPORTED_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs AND "${_dirs}" MATCHES "/opt/python/")
      list(FILTER _dirs EXCLUDE REGEX "^/opt/python/")
      list(APPEND _dirs ${Python3_INCLUDE_DIRS})
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_dirs}")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _sky2ground_fix_wheel_python_includes)
